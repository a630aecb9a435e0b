// @ts-check
// ESLint rule that keeps each top-level folder to the imports its runtime allows (Signal-Desktop's
// per-environment lint rule, by folder). Relative imports are resolved against the importing file,
// so `../main` inside renderer/src/ means renderer/main, not the Electron main/ folder. It checks
// static imports, `export ... from`, dynamic `import()`, `require()` and `import x = require()`.
import { builtinModules } from "node:module";
import path from "node:path";

/**
 * @typedef {object} Boundary
 * @property {string} why              one line shown with every report
 * @property {boolean} [forbidBuiltins] Node built-ins (`fs`, `node:fs`, ...) are refused
 * @property {boolean} [allowBuiltins]  Node built-ins pass even when allowPackages is set (tests)
 * @property {string[]} [forbidPackages] bare package names refused
 * @property {string[]} [allowPackages]  when set, the only bare packages allowed
 * @property {string[]} [forbidPaths]    project folders/files (relative to root) refused
 * @property {string[]} [allowPaths]     when set, the only project folders/files allowed
 * @property {string[]} [typeOnlyPaths]  project folders/files allowed for `import type` only
 */

const builtins = new Set(builtinModules);

/** @param {string} specifier */
function packageName(specifier) {
  const parts = specifier.split("/");
  return specifier.startsWith("@") ? parts.slice(0, 2).join("/") : (parts[0] ?? specifier);
}

/** @param {string} specifier */
function isBuiltin(specifier) {
  return specifier.startsWith("node:") || builtins.has(specifier) || builtins.has(packageName(specifier));
}

/**
 * Strips a source extension so `protocol/ipc-contract` and `protocol/ipc-contract.ts` compare equal.
 * @param {string} projectPath
 */
function withoutExtension(projectPath) {
  return projectPath.replace(/\.(d\.)?[cm]?[jt]sx?$/, "");
}

/** @param {string} target @param {string[]} entries */
function matchesAny(target, entries) {
  const bare = withoutExtension(target);
  return entries.some((entry) => {
    const wanted = withoutExtension(entry);
    return bare === wanted || bare.startsWith(`${wanted}/`);
  });
}

/** @type {import("eslint").Rule.RuleModule} */
export const importBoundaries = {
  meta: {
    type: "problem",
    docs: { description: "Keep each top-level folder to the imports its runtime allows" },
    schema: [
      {
        type: "object",
        properties: {
          root: { type: "string" },
          folder: { type: "string" },
          why: { type: "string" },
          forbidBuiltins: { type: "boolean" },
          allowBuiltins: { type: "boolean" },
          forbidPackages: { type: "array", items: { type: "string" } },
          allowPackages: { type: "array", items: { type: "string" } },
          forbidPaths: { type: "array", items: { type: "string" } },
          allowPaths: { type: "array", items: { type: "string" } },
          typeOnlyPaths: { type: "array", items: { type: "string" } },
        },
        required: ["root", "folder", "why"],
        additionalProperties: false,
      },
    ],
    messages: {
      builtin: "{{folder}}/ may not import the Node built-in '{{specifier}}': {{why}}",
      package: "{{folder}}/ may not import '{{specifier}}': {{why}}",
      path: "{{folder}}/ may not import '{{specifier}}' ({{target}}): {{why}}",
      typeOnly: "{{folder}}/ may import '{{specifier}}' ({{target}}) only with `import type`: {{why}}",
    },
  },
  create(context) {
    /** @type {Boundary & { root: string, folder: string }} */
    const options = context.options[0];
    const fileDir = path.dirname(context.filename);

    /**
     * @param {import("estree").Node} node
     * @param {string} specifier
     * @param {boolean} typeOnly
     */
    function check(node, specifier, typeOnly) {
      const data = { folder: options.folder, specifier, why: options.why };
      if (specifier.startsWith(".") || path.isAbsolute(specifier)) {
        const target = path.relative(options.root, path.resolve(fileDir, specifier)).split(path.sep).join("/");
        if (target.startsWith("..") || path.isAbsolute(target)) return;
        const report = { ...data, target };
        if (options.typeOnlyPaths !== undefined && matchesAny(target, options.typeOnlyPaths)) {
          if (!typeOnly) context.report({ node, messageId: "typeOnly", data: report });
          return;
        }
        const refused =
          (options.forbidPaths !== undefined && matchesAny(target, options.forbidPaths)) ||
          (options.allowPaths !== undefined && !matchesAny(target, options.allowPaths));
        if (refused) context.report({ node, messageId: "path", data: report });
        return;
      }
      if (isBuiltin(specifier)) {
        if (options.allowBuiltins === true) return;
        if (options.forbidBuiltins === true) {
          context.report({ node, messageId: "builtin", data });
          return;
        }
      }
      const name = packageName(specifier);
      const refused =
        (options.forbidPackages !== undefined && options.forbidPackages.includes(name)) ||
        (options.allowPackages !== undefined && !options.allowPackages.includes(name));
      if (refused) context.report({ node, messageId: "package", data });
    }

    /** @param {unknown} node @returns {string | undefined} */
    function literal(node) {
      if (typeof node !== "object" || node === null) return undefined;
      const value = /** @type {{ type?: string, value?: unknown }} */ (node);
      return value.type === "Literal" && typeof value.value === "string" ? value.value : undefined;
    }

    return {
      ImportDeclaration(node) {
        const specifier = literal(node.source);
        if (specifier === undefined) return;
        const loose = /** @type {{ importKind?: string, specifiers: Array<{ importKind?: string }> }} */ (
          /** @type {unknown} */ (node)
        );
        const typeOnly =
          loose.importKind === "type" ||
          (loose.specifiers.length > 0 && loose.specifiers.every((s) => s.importKind === "type"));
        check(node, specifier, typeOnly);
      },
      ExportNamedDeclaration(node) {
        const specifier = literal(node.source);
        const loose = /** @type {{ exportKind?: string }} */ (/** @type {unknown} */ (node));
        if (specifier !== undefined) check(node, specifier, loose.exportKind === "type");
      },
      ExportAllDeclaration(node) {
        const specifier = literal(node.source);
        const loose = /** @type {{ exportKind?: string }} */ (/** @type {unknown} */ (node));
        if (specifier !== undefined) check(node, specifier, loose.exportKind === "type");
      },
      ImportExpression(node) {
        const specifier = literal(node.source);
        if (specifier !== undefined) check(node, specifier, false);
      },
      CallExpression(node) {
        if (node.callee.type !== "Identifier" || node.callee.name !== "require") return;
        const specifier = literal(node.arguments[0]);
        if (specifier !== undefined) check(node, specifier, false);
      },
      /** @param {import("estree").Node & { moduleReference?: { type: string, expression?: unknown }, importKind?: string }} node */
      TSImportEqualsDeclaration(node) {
        const reference = node.moduleReference;
        if (reference?.type !== "TSExternalModuleReference") return;
        const specifier = literal(reference.expression);
        if (specifier !== undefined) check(node, specifier, node.importKind === "type");
      },
    };
  },
};
