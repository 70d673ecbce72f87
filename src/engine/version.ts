import packageJson from '../../package.json' with { type: 'json' };

/** The version results.json records (package.json's, bundled into dist/ at build time). */
export const TOOL_VERSION: string = packageJson.version;
