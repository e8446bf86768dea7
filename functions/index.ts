/**
 * The app's entry point (package.json "main"): loading a module registers its functions, exactly
 * as the Azure Functions worker and the offline host (emulator/) expect.
 */
import './health';
import './migrations';
import './parameters';
import './wizard';
import './web';
import './activities';
import '../orchestrators/migration';
import '../orchestrators/database';
import '../orchestrators/cdc';
import '../orchestrators/copy-lane';
import '../orchestrators/reverse';
