import type { BuildOptions } from 'esbuild';

export declare const repoRoot: string;
export type BundleName = 'proxy' | 'action' | 'cli';
export declare const BUNDLES: Record<BundleName, { entry: string; outfile: string; executable: boolean }>;
export declare function bundleOptions(name: BundleName, outfile?: string): BuildOptions;
