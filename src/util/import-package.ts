/**
 * `import()` of a package or built-in module that is loaded only when needed (the compression
 * codecs, node:http for the metrics command).
 *
 * A module of its own because the bin keeps it out of its bundle (tools/bundle): the bin runs the
 * bundle from V8's code cache (src/cli/launcher.ts), and on Node 20 code restored from that cache
 * has lost what `import()` needs to find its loader (ERR_VM_DYNAMIC_IMPORT_CALLBACK_MISSING). From
 * a file that Node loaded itself, `import()` works, so the bundle's `import()`s all run here.
 */
export function importPackage<Module>(specifier: string): Promise<Module> {
  return import(specifier) as Promise<Module>;
}
