/**
 * `import()` of a package or built-in module that is loaded only when needed (the compression
 * codecs, node:http for the metrics command).
 *
 * A module of its own because the bin keeps it out of its bundle (tools/bundle). The bin compiles
 * the bundle as a `vm.Script` with V8's code cache (src/cli/launcher.ts), and `import()` inside
 * such a script needs the `importModuleDynamically` option: with
 * `vm.constants.USE_MAIN_CONTEXT_DEFAULT_LOADER` it works in the process that compiled the code,
 * but on Node 20 code restored from the cache has lost that option
 * (ERR_VM_DYNAMIC_IMPORT_CALLBACK_MISSING), and the constant prints an ExperimentalWarning as
 * well. From a file that Node loaded itself, `import()` just works, so the bundle's `import()`s
 * all run here.
 */
export function importPackage<Module>(specifier: string): Promise<Module> {
  return import(specifier) as Promise<Module>;
}
