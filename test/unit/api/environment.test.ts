import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { GeneratorSource } from '../../../src/index.ts';
import type { LogicalPlan, OperatorTransformation } from '../../../src/graph/transformation.ts';
import { throwsCode } from '../../helpers/errors.ts';
import { planOf } from '../../helpers/plans.ts';

const source = () => new GeneratorSource({ count: 5, generate: (i) => i });

function operators(plan: LogicalPlan): OperatorTransformation[] {
  return plan.transformations.filter((t): t is OperatorTransformation => t.kind !== 'partition' && t.kind !== 'union');
}

test('fromSource() rejects a non-source and an empty name', () => {
  throwsCode(() => planOf((env) => void env.fromSource({} as never, 'gen')), 'WEIR_INVALID_ARGUMENT', /^fromSource\(\) expects a source/);
  throwsCode(() => planOf((env) => void env.fromSource(null as never, 'gen')), 'WEIR_INVALID_ARGUMENT', /^fromSource\(\) expects a source/);
  throwsCode(() => planOf((env) => void env.fromSource(source(), '  ')), 'WEIR_INVALID_ARGUMENT', /^fromSource\(\) expects a non-empty name, got "  "/);
  throwsCode(() => planOf((env) => void env.fromSource(source(), undefined as never)), 'WEIR_INVALID_ARGUMENT', /^fromSource\(\) expects a non-empty name/);
});

test('env.params and env.parallelism are the configuration the plan is built for', () => {
  let seen: unknown;
  const plan = planOf(
    (env) => {
      seen = { params: env.params, parallelism: env.parallelism };
      env.fromSource(source(), env.params.name!).setParallelism(env.parallelism * 2);
    },
    3,
    { name: 'from-params', out: '/tmp/o' },
  );
  assert.equal(seen, { params: { name: 'from-params', out: '/tmp/o' }, parallelism: 3 });
  assert.equal(plan.params, { name: 'from-params', out: '/tmp/o' });
  assert.is(plan.parallelism, 3);
  assert.is(operators(plan)[0]!.name, 'from-params');
  assert.is(operators(plan)[0]!.parallelism, 6);
});

test('a plan is chained unless the builder calls env.disableOperatorChaining(), which returns env', () => {
  assert.is(planOf((env) => void env.fromSource(source(), 'gen')).chaining, true);
  let returned: unknown;
  let environment: unknown;
  const plan = planOf((env) => {
    environment = env;
    returned = env.disableOperatorChaining();
    env.fromSource(source(), 'gen');
  });
  assert.is(plan.chaining, false);
  assert.is(returned, environment);
});

test.run();
