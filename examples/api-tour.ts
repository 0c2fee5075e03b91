import { Calendar, RollingGen, TaskManager, loadTaskDefsFile, openStore, runTask, taskGenerator } from 'qtask';

// 1. Generate: roll the template's test segment forward one quarter at a time (qlib's RollingGen).
const calendar = Calendar.weekdays('2015-01-01', '2020-12-31'); // or Calendar.fromFile('<qlib data>/calendars/day.txt')
const templates = loadTaskDefsFile('examples/templates/rolling_linear.yaml');
const tasks = taskGenerator(templates, new RollingGen({ calendar, step: '1Q', rtype: RollingGen.ROLL_EX }));

// 2. Store: a pool in a SQLite store (use a file, or mongodb://host/db, to share it between processes).
const store = await openStore('sqlite::memory:');
const tm = new TaskManager(store, 'tour');
await tm.createTask(tasks); // logs "Total Tasks: 12, New Tasks: 12"

// 3. Run: claim, run and commit until nothing is claimable (`qtask worker` does this in a process).
await runTask((def) => ({ model: (def as { model: { class: string } }).model.class }), { store, pool: 'tour' });

// 4. Look at the pool.
console.log(await tm.taskStat()); // { done: 12 }
const [first] = await tm.query({ status: 'done' }, { limit: 1 });
console.log(first._id, first.res); // <id> { model: 'LinearModel' }
await store.close();
