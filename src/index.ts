/** Tributary's public API: start a Kafka-compatible broker in-process. */
export { startBroker, type RunningBroker, type StartBrokerOptions } from './broker.js';
export type { BrokerConfig, BrokerOptions } from './config.js';
export { TributaryError, type TributaryErrorCode } from './errors.js';
export { VERSION } from './version.js';
