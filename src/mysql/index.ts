export * from './url.ts';
export * from './localServer.ts';
export * from './waitForServer.ts';
