export * from '../../emulator/local/ports';
