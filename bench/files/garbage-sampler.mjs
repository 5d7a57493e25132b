/**
 * Loaded into a server of `garbage.mjs` (`node --import`): on the message `start` it starts V8's
 * sampling heap profiler, counting the objects collected since as well, so that what is sampled is
 * everything allocated, not what is still alive; on `stop` it sends back the bytes sampled per
 * function (name, file and line of the outermost function of the optimized frame: V8 counts what a
 * function inlines as its own).
 */
import { Session } from 'node:inspector/promises';

const session = new Session();
session.connect();

process.on('message', async (m) => {
  if (m === 'start') {
    await session.post('HeapProfiler.startSampling', {
      samplingInterval: 128,
      includeObjectsCollectedByMajorGC: true,
      includeObjectsCollectedByMinorGC: true,
    });
    process.send({ started: true });
  } else if (m === 'stop') {
    const { profile } = await session.post('HeapProfiler.stopSampling');
    const bytes = new Map();
    const walk = (node) => {
      const f = node.callFrame;
      const name = `${f.functionName || '(anonymous)'} ${f.url.replace(/^.*\//, '') || '(native)'}:${f.lineNumber + 1}`;
      if (node.selfSize > 0) bytes.set(name, (bytes.get(name) ?? 0) + node.selfSize);
      for (const child of node.children) walk(child);
    };
    walk(profile.head);
    process.send({ bytes: [...bytes] });
  }
});
