import { readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { parse } from '@cdktf/hcl2json';
import { repo } from './tools.ts';

/** Every `.tf` file of terraform/, parsed by HashiCorp's HCL parser (compiled to WebAssembly). */
export interface Terraform {
  files: Map<string, string>;
  locals: Record<string, any>;
  variables: Record<string, any>;
  outputs: Record<string, any>;
  /** `resource "type" "name"` blocks, by type then name. */
  resources: Record<string, Record<string, any>>;
  data: Record<string, Record<string, any>>;
  resource(type: string, name: string): any;
}

export async function loadTerraform(dir: string = repo('terraform')): Promise<Terraform> {
  const files = new Map<string, string>();
  const merged = { locals: {} as Record<string, any>, variables: {} as Record<string, any>, outputs: {} as Record<string, any>, resources: {} as Record<string, Record<string, any>>, data: {} as Record<string, Record<string, any>> };
  for (const name of readdirSync(dir).filter((f) => f.endsWith('.tf')).sort()) {
    const text = readFileSync(path.join(dir, name), 'utf8');
    files.set(name, text);
    const parsed = await parse(name, text);
    for (const block of parsed.locals ?? []) Object.assign(merged.locals, block);
    for (const [key, blocks] of Object.entries<any[]>(parsed.variable ?? {})) merged.variables[key] = blocks[0];
    for (const [key, blocks] of Object.entries<any[]>(parsed.output ?? {})) merged.outputs[key] = blocks[0];
    for (const [kind, target] of [['resource', merged.resources], ['data', merged.data]] as const) {
      for (const [type, byName] of Object.entries<Record<string, any[]>>(parsed[kind] ?? {})) {
        target[type] ??= {};
        for (const [resourceName, blocks] of Object.entries(byName)) target[type][resourceName] = blocks[0];
      }
    }
  }
  return {
    files,
    ...merged,
    resource(type, name) {
      const found = merged.resources[type]?.[name];
      if (!found) throw new Error(`no resource ${type}.${name} in terraform/`);
      return found;
    },
  };
}

/**
 * The layout `terraform fmt` produces, checked without the terraform binary: two-space
 * indentation, no tabs or trailing spaces, one final newline, and `=` of consecutive one-line
 * attributes aligned one space after the longest name (a multi-line value, a blank line, a
 * comment or a block ends such a run, as in hclwrite). Returns the problems, `file:line: what`.
 */
export function formatProblems(name: string, text: string): string[] {
  const problems: string[] = [];
  const lines = text.split('\n');
  if (!text.endsWith('\n') || text.endsWith('\n\n')) problems.push(`${name}: must end with exactly one newline`);
  let run: { line: number; indent: number; key: string; eq: number }[] = [];
  const flush = () => {
    if (run.length > 0) {
      const want = run[0]!.indent + Math.max(...run.map((a) => a.key.length)) + 1;
      for (const a of run) if (a.eq !== want) problems.push(`${name}:${a.line}: "=" of ${a.key} at column ${a.eq + 1}, terraform fmt puts it at ${want + 1}`);
    }
    run = [];
  };
  let depth = 0;
  lines.forEach((line, i) => {
    const at = i + 1;
    if (line.includes('\t')) problems.push(`${name}:${at}: tab`);
    if (/ +$/.test(line)) problems.push(`${name}:${at}: trailing spaces`);
    const indent = /^ */.exec(line)![0].length;
    const code = stripStrings(line.trim());
    const closes = /^[}\])]/.test(code) ? 1 : 0;
    if (line.trim() !== '' && indent !== 2 * (depth - closes)) problems.push(`${name}:${at}: indented ${indent}, expected ${2 * (depth - closes)}`);
    const attribute = /^( *)([A-Za-z_][\w-]*|"[^"]*")( *)= (.*)$/.exec(line);
    const balance = bracketBalance(code);
    if (attribute && balance === 0) {
      if (run.length > 0 && run[0]!.indent !== indent) flush();
      run.push({ line: at, indent, key: attribute[2]!, eq: indent + attribute[2]!.length + attribute[3]!.length });
    } else {
      flush();
      if (attribute && attribute[3] !== ' ') problems.push(`${name}:${at}: one space before "=" of a multi-line value`);
    }
    // hclwrite indents one level per line that opens brackets, however many it opens (`= [{`).
    depth += Math.sign(balance);
  });
  flush();
  return problems;
}

/** The line with string literals (and their interpolations) blanked out. */
function stripStrings(code: string): string {
  return code.replace(/"(?:[^"\\]|\\.)*"/g, '""').replace(/#.*$|\/\/.*$/, '');
}

function bracketBalance(code: string): number {
  let balance = 0;
  for (const ch of code) {
    if ('{[('.includes(ch)) balance++;
    else if ('}])'.includes(ch)) balance--;
  }
  return balance;
}
