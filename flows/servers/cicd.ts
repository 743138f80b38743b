/**
 * The servers the CI/CD pipeline calls: docker, security-scanner, kubernetes,
 * communication-hub. Their contracts live in the domain files (`deploy.ts`, `security.ts`,
 * `notifications.ts`); this module re-exports them for the CI/CD flow.
 *
 * @example
 * ```ts
 * import { Docker } from "./servers/cicd.ts"
 * const built = Docker.docker_build({ dockerfile_path: "Dockerfile", image_tag: "app:latest" })
 * ```
 * @module
 */
export { Docker, Kubernetes } from "./deploy.ts"
export { CommunicationHub } from "./notifications.ts"
export { DesktopCommander, SecurityScanner, Vulnerability } from "./security.ts"
