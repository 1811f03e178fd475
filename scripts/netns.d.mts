// Types of netns.mjs for the tests that use it.
export interface Link {
  rateKbit: number;
  delayMs?: number;
}
export interface Namespace {
  name: string;
  /** The namespace's own address (servers listen on it). */
  address: string;
  /** This side's address of the pair. */
  hostAddress: string;
  /** The shaped device inside the namespace. */
  dev: string;
}
export function netnsProblem(): string | undefined;
export function netemProblem(): string | undefined;
export function makeNamespaces(links: Link[]): { namespaces: Namespace[]; remove(): void };
export function sentThroughLink(ns: Namespace): number;
