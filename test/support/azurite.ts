export * from '../../emulator/local/azurite';
