export * from '../../emulator/local/cluster';
