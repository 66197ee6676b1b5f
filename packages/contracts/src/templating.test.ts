import { describe, expect, it } from 'vitest';
import { VARIABLE_NAME, malformedPlaceholders, renderTemplate, templateVariables } from './templating.js';

describe('templateVariables', () => {
  it('lists each placeholder name once, allowing spaces and dotted names', () => {
    expect(templateVariables('Hi {{first_name}}, {{ customer.tier }} member. Bye {{first_name}}!')).toEqual([
      'first_name',
      'customer.tier',
    ]);
  });

  it('ignores text that is not a well-formed placeholder', () => {
    expect(templateVariables('{first} {{ two words }} {{}} {{1abc}} {{a.}} }}x{{')).toEqual([]);
  });
});

describe('malformedPlaceholders', () => {
  it('reports braces whose content is not a variable name', () => {
    expect(malformedPlaceholders('{{ first name }} and {{}} and {{a-b}} and {{ ok }} and {{x.y}}')).toEqual([
      '{{ first name }}',
      '{{}}',
      '{{a-b}}',
    ]);
  });

  it('finds nothing wrong in plain text or single braces', () => {
    expect(malformedPlaceholders('JSON like {"a": 1} is fine')).toEqual([]);
  });
});

describe('VARIABLE_NAME', () => {
  it.each(['a', '_x', 'first_name', 'customer.name', 'a1.b2.c3'])('accepts %s', (name) => {
    expect(VARIABLE_NAME.test(name)).toBe(true);
  });
  it.each(['', '1a', 'a.', '.a', 'a..b', 'a-b', 'a b'])('rejects %j', (name) => {
    expect(VARIABLE_NAME.test(name)).toBe(false);
  });
});

describe('renderTemplate', () => {
  it('substitutes values of every type and renders unknown names as nothing', () => {
    expect(
      renderTemplate('Hi {{ name }}! You have {{count}} items; vip={{vip}}; {{missing}}end', {
        name: 'Ada',
        count: 3,
        vip: false,
      }),
    ).toBe('Hi Ada! You have 3 items; vip=false; end');
  });

  it('uses dotted names as flat keys and leaves malformed braces alone', () => {
    expect(renderTemplate('{{customer.name}} {{ not valid }}', { 'customer.name': 'Bo' })).toBe(
      'Bo {{ not valid }}',
    );
  });

  it('does not re-expand placeholders that appear in values', () => {
    expect(renderTemplate('{{a}}', { a: '{{b}}', b: 'no' })).toBe('{{b}}');
  });
});
