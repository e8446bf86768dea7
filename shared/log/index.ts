export { Logger, consoleSink, formatLine, type LogFields, type LogLevel, type LogSink } from './logger';
export { REDACTED, addKnownSecret, errorFields, isSecretKey, redactText, redactValue } from './redact';
