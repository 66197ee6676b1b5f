import { describe, expect, it } from 'vitest';
import { ConfigError, parseConfig, publicUrlOf, runtimeMediaUrlOf } from './config.js';

describe('configuration', () => {
  it('has working defaults for the embedded quick start', () => {
    const config = parseConfig({});
    expect(config).toMatchObject({
      PARLEY_PORT: 3000,
      PARLEY_HOST: '127.0.0.1',
      PARLEY_ROLE: 'all',
      PARLEY_DATA_DIR: '.parley',
    });
    expect(config.DATABASE_URL).toBeUndefined();
    expect(publicUrlOf(config)).toBe('http://127.0.0.1:3000');
  });

  it('names every bad variable', () => {
    try {
      parseConfig({
        PARLEY_PORT: '99999',
        PARLEY_ROLE: 'worker',
        PARLEY_SECRET_KEY: 'short',
        PARLEY_SIGNUP_ENABLED: 'maybe',
      });
      expect.unreachable();
    } catch (error) {
      expect(error).toBeInstanceOf(ConfigError);
      const problems = (error as ConfigError).problems.join('\n');
      for (const name of ['PARLEY_PORT', 'PARLEY_ROLE', 'PARLEY_SECRET_KEY', 'PARLEY_SIGNUP_ENABLED'])
        expect(problems).toContain(name);
      // The bad secret itself is never echoed.
      expect(problems).not.toContain('short:');
    }
  });

  it('reads lists and booleans, and treats empty values as unset', () => {
    const config = parseConfig({
      PARLEY_PREVIOUS_SECRET_KEYS: 'a, b,,c',
      PARLEY_SIGNUP_ENABLED: 'false',
      PARLEY_PORT: '',
    });
    expect(config.PARLEY_PREVIOUS_SECRET_KEYS).toEqual(['a', 'b', 'c']);
    expect(config.PARLEY_SIGNUP_ENABLED).toBe(false);
    expect(config.PARLEY_PORT).toBe(3000);
  });

  it('reads the hosts tool requests may reach, and refuses what is not a host name', () => {
    expect(parseConfig({}).PARLEY_OUTBOUND_ALLOWED_HOSTS).toEqual([]);
    expect(
      parseConfig({ PARLEY_OUTBOUND_ALLOWED_HOSTS: 'localhost, Tools.Internal,*.corp.example' })
        .PARLEY_OUTBOUND_ALLOWED_HOSTS,
    ).toEqual(['localhost', 'tools.internal', '*.corp.example']);
    for (const bad of ['*', 'http://tools.internal', 'tools.internal:8080', '*.', 'a b']) {
      expect(() => parseConfig({ PARLEY_OUTBOUND_ALLOWED_HOSTS: bad }), bad).toThrow(
        /PARLEY_OUTBOUND_ALLOWED_HOSTS\.0: expected host names/,
      );
    }
  });

  it('limits API requests and bodies by default, and takes other limits', () => {
    expect(parseConfig({})).toMatchObject({
      PARLEY_API_RATE_LIMIT_PER_MINUTE: 600,
      PARLEY_BODY_LIMIT_BYTES: 1024 * 1024,
    });
    expect(
      parseConfig({ PARLEY_API_RATE_LIMIT_PER_MINUTE: '30', PARLEY_BODY_LIMIT_BYTES: '2048' }),
    ).toMatchObject({ PARLEY_API_RATE_LIMIT_PER_MINUTE: 30, PARLEY_BODY_LIMIT_BYTES: 2048 });
    expect(() => parseConfig({ PARLEY_API_RATE_LIMIT_PER_MINUTE: '0' })).toThrow(
      /PARLEY_API_RATE_LIMIT_PER_MINUTE/,
    );
  });

  it('prefers the public URL and maps wildcard hosts to localhost', () => {
    expect(publicUrlOf(parseConfig({ PARLEY_PUBLIC_URL: 'https://voice.example.com//' }))).toBe(
      'https://voice.example.com',
    );
    expect(publicUrlOf(parseConfig({ PARLEY_PUBLIC_URL: 'https://voice.example.com/' }))).toBe(
      'https://voice.example.com',
    );
    expect(publicUrlOf(parseConfig({ PARLEY_HOST: '0.0.0.0' }), 8080)).toBe('http://localhost:8080');
  });

  it('reads where carriers reach this process’s media sockets, as a WebSocket URL', () => {
    expect(runtimeMediaUrlOf(parseConfig({}))).toBeNull();
    expect(runtimeMediaUrlOf(parseConfig({ PARLEY_RUNTIME_URL: 'https://rt-1.example.com/' }))).toBe(
      'wss://rt-1.example.com',
    );
    expect(runtimeMediaUrlOf(parseConfig({ PARLEY_RUNTIME_URL: 'ws://10.0.0.7:3000' }))).toBe(
      'ws://10.0.0.7:3000',
    );
    for (const bad of ['rt-1.example.com', 'ftp://rt-1.example.com'])
      expect(() => parseConfig({ PARLEY_RUNTIME_URL: bad }), bad).toThrow(/PARLEY_RUNTIME_URL/);
  });
});
