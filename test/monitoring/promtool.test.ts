import { spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import YAML from 'yaml';
import { projectRoot } from '../../core/paths.ts';

const dir = path.join(projectRoot, 'monitoring', 'prometheus');

/** Runs promtool in monitoring/prometheus; a missing promtool is a failure with the fix, never a skip. */
function promtool(...args: string[]): { status: number | null; output: string } {
  const run = spawnSync('promtool', args, { cwd: dir, encoding: 'utf8' });
  if (run.error) throw new Error(`promtool not runnable (${run.error.message}): apt-get install -y prometheus`);
  return { status: run.status, output: `${run.stdout}${run.stderr}` };
}

const readYaml = (file: string) => YAML.parse(readFileSync(path.join(dir, file), 'utf8'));

interface AlertTest {
  name: string;
  input_series?: { series: string }[];
  alert_rule_test?: { alertname: string; exp_alerts?: { exp_labels?: Record<string, string> }[] }[];
}

interface Rule {
  alert?: string;
  record?: string;
  expr: string;
  annotations?: Record<string, string>;
}

const rulesOf = (): Rule[] => readYaml('alerts.yml').groups.flatMap((g: { rules: Rule[] }) => g.rules);
/** Alerts on the queue, the jobs, inference or the cache: the ones that must hold per model. */
const PER_MODEL = /llmo_(queue|jobs|job_|time_to_first|e2e|generation|cache|sequences|prompt|embedding)|queue_model/;

describe('monitoring/prometheus', () => {
  it('passes promtool check config', () => {
    const { status, output } = promtool('check', 'config', 'prometheus.yml');
    expect(output).toContain('SUCCESS');
    expect(status, output).toBe(0);
  });

  it('passes promtool check rules', () => {
    const { status, output } = promtool('check', 'rules', 'alerts.yml');
    expect(status, output).toBe(0);
  });

  it('passes every unit test of alerts.test.yml (promtool test rules)', () => {
    const { status, output } = promtool('test', 'rules', 'alerts.test.yml');
    expect(output).toContain('SUCCESS');
    expect(status, output).toBe(0);
  });

  it('has, for every alert, a unit test that fires it and one that does not', () => {
    const alerts: string[] = readYaml('alerts.yml').groups.flatMap((g: { rules: { alert?: string }[] }) =>
      g.rules.flatMap((r) => (r.alert ? [r.alert] : [])),
    );
    const tests: AlertTest[] = readYaml('alerts.test.yml').tests;
    const cases = tests.flatMap((t) => t.alert_rule_test ?? []);
    expect(alerts.length).toBeGreaterThanOrEqual(8);
    for (const alert of alerts) {
      const mine = cases.filter((c) => c.alertname === alert);
      expect(mine.some((c) => (c.exp_alerts ?? []).length > 0), `${alert} fires in a test`).toBe(true);
      expect(mine.some((c) => (c.exp_alerts ?? []).length === 0), `${alert} stays quiet in a test`).toBe(true);
    }
    // And no test names an alert that does not exist (it would pass vacuously).
    for (const c of cases) expect(alerts).toContain(c.alertname);
  });

  it('covers the conditions operators must be paged for', () => {
    const exprs = Object.fromEntries(
      readYaml('alerts.yml').groups.flatMap((g: { rules: { alert?: string; expr: string }[] }) =>
        g.rules.flatMap((r) => (r.alert ? [[r.alert, r.expr]] : [])),
      ),
    ) as Record<string, string>;
    expect(exprs.LlmoQueueBacklogGrowing).toMatch(/deriv\(/);
    expect(exprs.LlmoJobsWaitingWithoutWorker).toMatch(/state="active"/);
    expect(exprs.LlmoJobsWaitingWithoutWorker).toMatch(/and on \(queue, model\)/);
    expect(exprs.LlmoJobFailureRatioHigh).toMatch(/llmo_jobs_failed_total/);
    expect(exprs.LlmoEndToEndLatencyHigh).toMatch(/histogram_quantile\(0\.95,.*llmo_e2e_request_latency_seconds_bucket/s);
    expect(exprs.LlmoTimeToFirstTokenHigh).toMatch(/histogram_quantile\(0\.95,.*llmo_time_to_first_token_seconds_bucket/s);
    expect(exprs.LlmoWorkerDown).toMatch(/up\{job="worker"\}/);
    expect(exprs.RedisDown).toMatch(/redis_up/);
    expect(exprs.RedisMemoryNearLimit).toMatch(/redis_memory_used_bytes \/ redis_memory_max_bytes/);
    // Our own reading, so it works without redis_exporter, and never on a Redis without a limit.
    expect(exprs.LlmoRedisMemoryHigh).toMatch(/llmo_redis_memory_used_bytes[\s\S]*\/[\s\S]*llmo_redis_memory_max_bytes > 0\)\s*> 0\.85/);
  });

  it('keeps a model label on every queue, job, inference and cache alert, and names the model in its summary', () => {
    const rules = rulesOf();
    const perModel = rules.filter((r) => r.alert && PER_MODEL.test(r.expr));
    expect(perModel.map((r) => r.alert).sort()).toEqual(
      ['LlmoEndToEndLatencyHigh', 'LlmoJobFailureRatioHigh', 'LlmoJobsWaitingWithoutWorker', 'LlmoQueueBacklogGrowing', 'LlmoTimeToFirstTokenHigh'].sort(),
    );
    for (const rule of perModel) {
      // Every aggregation keeps `model`, and every vector match joins on it.
      for (const [, labels] of rule.expr.matchAll(/\b(?:by|on) \(([^)]*)\)/g)) {
        expect(labels!.split(',').map((l) => l.trim()), `${rule.alert}: ${labels}`).toContain('model');
      }
      expect(rule.annotations?.summary, rule.alert).toContain('{{ $labels.model }}');
    }
    // The recorded series the queue alerts read are per model too.
    const recorded = Object.fromEntries(rules.filter((r) => r.record).map((r) => [r.record, r.expr]));
    expect(recorded['queue_model_state:llmo_queue_jobs:max']).toBe('max by (queue, model, state) (llmo_queue_jobs)');
    expect(recorded['queue_model:llmo_queue_backlog:sum']).toMatch(/^sum by \(queue, model\) /);
  });

  it('has, for every per-model alert, a test where one model fires and another does not', () => {
    const tests: AlertTest[] = readYaml('alerts.test.yml').tests;
    const perModel = rulesOf().filter((r) => r.alert && PER_MODEL.test(r.expr));
    for (const rule of perModel) {
      const found = tests.some((t) => {
        const models = new Set((t.input_series ?? []).flatMap((i) => [.../model="([^"]+)"/.exec(i.series)?.slice(1) ?? []]));
        return (t.alert_rule_test ?? []).some(
          (c) => c.alertname === rule.alert && models.size >= 2 && c.exp_alerts?.length === 1 && models.has(c.exp_alerts[0]!.exp_labels?.model ?? ''),
        );
      });
      expect(found, `${rule.alert}: a test with two models of which exactly one fires`).toBe(true);
    }
  });

  it('scrapes every service of the compose stack on its port, and discovers replicas by DNS', () => {
    const config = readYaml('prometheus.yml');
    const jobs = Object.fromEntries(config.scrape_configs.map((c: { job_name: string }) => [c.job_name, c])) as Record<string, any>;
    for (const [job, service, port] of [['api', 'api', 8080], ['worker', 'worker', 9464]] as const) {
      expect(jobs[job].dns_sd_configs).toEqual([expect.objectContaining({ names: [service], type: 'A', port })]);
    }
    const targets = (job: string) => jobs[job].static_configs.flatMap((s: { targets: string[] }) => s.targets);
    expect(targets('dashboard')).toEqual(['dashboard:8081']);
    expect(targets('traefik')).toEqual(['traefik:8082']);
    expect(targets('node')).toEqual(['node-exporter:9100']);
    expect(targets('cadvisor')).toEqual(['cadvisor:8080']);
    expect(targets('redis')).toEqual(['redis-exporter:9121']);
    expect(config.rule_files).toEqual(['alerts.yml']);
  });
});
