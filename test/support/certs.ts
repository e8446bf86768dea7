export * from '../../emulator/local/certs';
