// The tests' name for the process launcher they share with the benchmark (tools/role-process.ts).
export { READY_LINE, spawnRole, startRole, stopRole, type Role, type RoleProcess } from '../../tools/role-process.ts';
