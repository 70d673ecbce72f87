// What a proxy arm's build and start commands may see of the environment: the allow-list the
// gate's child processes share (src/util/childEnvironment.ts).
export { PassThroughNamesSchema, allowedEnvironment as armEnvironment } from '../util/childEnvironment.ts';
