// rate-limiter-flexible on ioredis: RateLimiterRedis consume until blocked, penalty, reward,
// get, delete; RLWrapperBlackAndWhite; BurstyRateLimiter. Prints the outcome as JSON.
const Redis = require('ioredis');
const { RateLimiterRedis, BurstyRateLimiter } = require('rate-limiter-flexible');
// The server: a TCP port on 127.0.0.1, or a Unix socket's path.
const target = process.argv[2];
const where = target.startsWith('/') ? { path: target } : { host: '127.0.0.1', port: parseInt(target) };
async function main() {
  const client = new Redis({ ...where, enableOfflineQueue: false });
  await new Promise(r => client.once('ready', r));
  await client.flushall();
  const rl = new RateLimiterRedis({ storeClient: client, points: 5, duration: 2, keyPrefix: 'rl', useRedisPackage: false });
  const out = { consumed: [], rejected: 0 };
  for (let i = 0; i < 7; i++) {
    try { const r = await rl.consume('user1'); out.consumed.push(r.remainingPoints); }
    catch (e) { if (e instanceof Error) throw e; out.rejected++; out.msBeforeNextPositive = e.msBeforeNext > 0; }
  }
  const pen = await rl.penalty('user2', 2); out.penalty = pen.consumedPoints;
  const rew = await rl.reward('user2', 1); out.reward = rew.consumedPoints;
  const got = await rl.get('user2'); out.get = got.consumedPoints;
  out.deleted = await rl.delete('user2');
  out.afterDelete = await rl.get('user2');
  const burst = new BurstyRateLimiter(rl, new RateLimiterRedis({ storeClient: client, points: 2, duration: 10, keyPrefix: 'burst' }));
  let bursts = 0; for (let i = 0; i < 8; i++) { try { await burst.consume('user3'); bursts++; } catch (e) { if (e instanceof Error) throw e; } }
  out.bursts = bursts;
  const ttl = await client.pttl('rl:user1'); out.ttlOk = ttl > 0 && ttl <= 2000;
  client.disconnect();
  console.log(JSON.stringify(out));
}
main().catch(e => { console.error('ERROR', e); process.exit(1); });
