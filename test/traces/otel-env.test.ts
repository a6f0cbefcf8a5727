import { describe, expect, it } from 'vitest';
import { otlpEndpoint } from '../../src/traces/otel-env.js';

describe('otlpEndpoint', () => {
  it('flowlens\' own setting, else the traces endpoint, else the general one, else none', () => {
    const env = { OTEL_EXPORTER_OTLP_ENDPOINT: 'http://all:4317', OTEL_EXPORTER_OTLP_TRACES_ENDPOINT: 'http://traces:4317' };
    expect(otlpEndpoint('http://flowlens:4317', env)).toBe('http://flowlens:4317');
    expect(otlpEndpoint(null, env)).toBe('http://traces:4317');
    expect(otlpEndpoint(null, { OTEL_EXPORTER_OTLP_ENDPOINT: 'http://all:4317', OTEL_EXPORTER_OTLP_TRACES_ENDPOINT: ' ' })).toBe('http://all:4317');
    expect(otlpEndpoint(null, {})).toBeNull();
  });

  it('OTEL_SDK_DISABLED=true and OTEL_TRACES_EXPORTER=none turn export off, whatever is configured', () => {
    expect(otlpEndpoint('http://flowlens:4317', { OTEL_SDK_DISABLED: 'TRUE' })).toBeNull();
    expect(otlpEndpoint('http://flowlens:4317', { OTEL_TRACES_EXPORTER: 'otlp, none' })).toBeNull();
    expect(otlpEndpoint('http://flowlens:4317', { OTEL_SDK_DISABLED: 'false', OTEL_TRACES_EXPORTER: 'otlp' })).toBe('http://flowlens:4317');
  });
});
