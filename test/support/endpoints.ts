export * from '../../emulator/local/endpoints';
