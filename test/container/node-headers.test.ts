/**
 * docker/node-headers.sh, which the image's build stage runs before better-sqlite3 is compiled:
 * node's headers copied for node-gyp, with node::ObjectWrap's per-object cleanup hook calls (Node.js
 * 24.19 and later on 24, 26.4 and later on 26) taken out and everything else as it was. Run on header trees made here in the
 * shapes of both kinds of node_object_wrap.h (no engine needed).
 */
import { mkdir, mkdtemp, readFile, readdir, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterEach, describe, expect, it } from 'vitest';
import { runProgram } from '@hearth/testkit';

const script = fileURLToPath(new URL('../../docker/node-headers.sh', import.meta.url));

/** node_object_wrap.h's ObjectWrap, reduced to what the script looks at, as Node.js 24.19 and 26.4 and later have it. */
const WITH_HOOKS = `class ObjectWrap {
 public:
  ObjectWrap() {
    refs_ = 0;
    AddCleanupHook();
  }

  virtual ~ObjectWrap() {
    RemoveCleanupHook();
    if (persistent().IsEmpty())
      return;
    persistent().ClearWeak();
    persistent().Reset();
  }

 private:
  void AddCleanupHook() {
    AddEnvironmentCleanupHook(v8::Isolate::GetCurrent(), CleanupHook, this);
  }

  void RemoveCleanupHook() {
    RemoveEnvironmentCleanupHook(v8::Isolate::GetCurrent(), CleanupHook, this);
  }

  static void CleanupHook(void* arg) { delete static_cast<ObjectWrap*>(arg); }
};
`;

/** The same, as the script should leave it: the two calls gone, the rest as it was. */
const HOOK_CALLS_TAKEN_OUT = WITH_HOOKS.replace('    AddCleanupHook();\n', '').replace('    RemoveCleanupHook();\n', '');

/** ObjectWrap as Node.js had it before 24.19 and 26.4: no hook at all. */
const WITHOUT_HOOKS = `class ObjectWrap {
 public:
  ObjectWrap() {
    refs_ = 0;
  }

  virtual ~ObjectWrap() {
    if (persistent().IsEmpty())
      return;
    persistent().ClearWeak();
    persistent().Reset();
  }
};
`;

const scratch: string[] = [];
afterEach(async () => {
  for (const dir of scratch.splice(0)) await rm(dir, { recursive: true, force: true });
});

/** A prefix whose include/node holds `header` as node_object_wrap.h, and two other files. */
async function prefixWith(header: string): Promise<string> {
  const prefix = await mkdtemp(join(tmpdir(), 'node-headers-'));
  scratch.push(prefix);
  await mkdir(join(prefix, 'include/node/cppgc'), { recursive: true });
  await writeFile(join(prefix, 'include/node/node_object_wrap.h'), header);
  await writeFile(join(prefix, 'include/node/common.gypi'), "{ 'variables': {} }\n");
  await writeFile(join(prefix, 'include/node/cppgc/heap.h'), '// heap\n');
  return prefix;
}

const headersScript = (prefix: string, dest: string) => runProgram('sh', [script, prefix, dest]);

async function files(dir: string): Promise<string[]> {
  return (await readdir(dir, { recursive: true })).map(String).sort();
}

describe('docker/node-headers.sh', () => {
  it('takes the per-object cleanup hook calls out of ObjectWrap (Node.js 24.19 and 26.4 and later) and changes nothing else', async () => {
    const prefix = await prefixWith(WITH_HOOKS);
    const dest = join(prefix, 'out');
    const r = await headersScript(prefix, dest);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout).toContain('ObjectWrap without its per-object cleanup hook');
    const header = await readFile(join(dest, 'include/node/node_object_wrap.h'), 'utf8');
    expect(header).not.toMatch(/(Add|Remove)CleanupHook\(\);/);
    expect(header).toBe(HOOK_CALLS_TAKEN_OUT);
    expect(await files(join(dest, 'include/node'))).toEqual(await files(join(prefix, 'include/node')));
    expect(await readFile(join(dest, 'include/node/cppgc/heap.h'), 'utf8')).toBe('// heap\n');
  });

  it('copies headers without the hook (Node.js 20, 22, 24 before 24.19, 26 before 26.4) unchanged', async () => {
    const prefix = await prefixWith(WITHOUT_HOOKS);
    const dest = join(prefix, 'out');
    const r = await headersScript(prefix, dest);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout).toContain('copied unchanged');
    expect(await readFile(join(dest, 'include/node/node_object_wrap.h'), 'utf8')).toBe(WITHOUT_HOOKS);
  });

  it('fails when a hook call is in a form it does not take out', async () => {
    const prefix = await prefixWith(WITH_HOOKS.replace('    refs_ = 0;\n    AddCleanupHook();', '    refs_ = 0; AddCleanupHook();'));
    const r = await headersScript(prefix, join(prefix, 'out'));
    expect(r.code).toBe(1);
    expect(r.stderr).toContain('ObjectWrap still calls its cleanup hook functions');
  });

  it('fails when there are no node headers under the prefix', async () => {
    const prefix = await mkdtemp(join(tmpdir(), 'node-headers-'));
    scratch.push(prefix);
    const r = await headersScript(prefix, join(prefix, 'out'));
    expect(r.code).toBe(1);
    expect(r.stderr).toContain(`no node headers in ${prefix}/include/node`);
  });
});
