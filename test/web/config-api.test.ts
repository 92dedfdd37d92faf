// The api block's keys: listen and open_metrics.

import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { ConfigError, loadConfigText } from '../../src/config/load.js';

describe('config: api', () => {
  it('open_metrics defaults to true and can be turned off', () => {
    assert.equal(loadConfigText('sources: {}\n', 't.yaml').apiOpenMetrics, true);
    const c = loadConfigText('api: { listen: "http://127.0.0.1:9000", open_metrics: false }\n', 't.yaml');
    assert.equal(c.apiOpenMetrics, false);
    assert.equal(c.api?.port, 9000);
  });

  it('a wrong type names the line and column', () => {
    assert.throws(() => loadConfigText('api:\n  open_metrics: "yes"\n', 't.yaml'), (e: unknown) => e instanceof ConfigError && /t\.yaml:2:/.test(e.message));
  });
});
