// BullMQ (every queue operation is a Lua script) end to end: plain, bulk, delayed,
// prioritized, retried and failing jobs, a flow with children, progress, pause/resume and
// QueueEvents over streams. Prints what a user would check as one JSON line, which
// tests/tests/node_frameworks.rs compares between redis-server and redish.
const { Queue, Worker, QueueEvents, FlowProducer } = require('bullmq');

// The server: a TCP port on 127.0.0.1, or a Unix socket's path.
const target = process.argv[2];
const where = target.startsWith('/') ? { path: target } : { host: '127.0.0.1', port: parseInt(target) };
const connection = { ...where, maxRetriesPerRequest: null };

const sleep = ms => new Promise(r => setTimeout(r, ms));

async function main() {
  const q = new Queue('jobs', { connection });
  const events = new QueueEvents('jobs', { connection });
  await events.waitUntilReady();
  let completedEvents = 0;
  let failedEvents = 0;
  events.on('completed', () => { completedEvents++; });
  events.on('failed', () => { failedEvents++; });

  const done = [];
  const failedOnce = new Set();
  const worker = new Worker('jobs', async job => {
    if (job.data.broken) throw new Error('always broken');
    if (job.data.flaky && !failedOnce.has(job.id)) {
      failedOnce.add(job.id);
      throw new Error('flaky');
    }
    await job.updateProgress(50);
    done.push(job.name);
    return job.data.n * 2;
  }, { connection, concurrency: 4 });

  // Paused, the queue holds its jobs; resumed, the worker takes them.
  await q.pause();
  const N = 50;
  const first = await q.add('plain', { n: 21 });
  for (let i = 1; i < N; i++) await q.add('plain', { n: i });
  await sleep(200);
  const waitingWhilePaused = await q.getWaitingCount();
  await q.resume();

  await q.addBulk([{ name: 'bulk', data: { n: 1 } }, { name: 'bulk', data: { n: 2 } }]);
  await q.add('delayed', { n: 3 }, { delay: 300 });
  await q.add('prio', { n: 4 }, { priority: 5 });
  await q.add('flaky', { n: 5, flaky: true }, { attempts: 3, backoff: { type: 'fixed', delay: 100 } });
  await q.add('broken', { n: 6, broken: true }, { attempts: 2 });
  const flow = new FlowProducer({ connection });
  await flow.add({
    name: 'parent', queueName: 'jobs', data: { n: 6 },
    children: [{ name: 'child', queueName: 'jobs', data: { n: 7 } }, { name: 'child', queueName: 'jobs', data: { n: 8 } }],
  });

  const total = N + 2 + 1 + 1 + 1 + 3;
  const start = Date.now();
  while ((done.length < total || failedEvents < 1) && Date.now() - start < 20000) await sleep(50);
  await sleep(300);

  const counts = await q.getJobCounts();
  const job = await q.getJob(first.id);
  const result = {
    waitingWhilePaused,
    done: done.length,
    total,
    names: done.filter(n => n !== 'plain').sort(),
    completedEvents,
    failedEvents,
    counts,
    returnvalue: job.returnvalue,
    progress: job.progress,
    attemptsMade: job.attemptsMade,
  };
  await worker.close();
  await events.close();
  await flow.close();
  await q.obliterate({ force: true });
  await q.close();
  console.log(JSON.stringify(result));
}

main().catch(e => { console.error('ERROR', e); process.exit(1); });
