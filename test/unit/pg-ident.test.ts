import { describe, expect, it } from 'vitest';
import { InvalidIdentifierError, MAX_IDENTIFIER_BYTES, quoteIdent, quoteQualified } from '../../shared/pg/ident';

describe('quoteIdent', () => {
  it.each([
    ['plain', 'orders', '"orders"'],
    ['mixed case stays exact', 'Orders', '"Orders"'],
    ['reserved word', 'select', '"select"'],
    ['reserved word user', 'user', '"user"'],
    ['spaces', 'order items', '"order items"'],
    ['one double quote', 'a"b', '"a""b"'],
    ['only quotes', '""', '""""""'],
    ['injection attempt', 'x"; DROP TABLE t; --', '"x""; DROP TABLE t; --"'],
    ['single quote is not special', "o'brien", `"o'brien"`],
    ['backslash is not special', 'a\\b', '"a\\b"'],
    ['dot is part of the name', 'a.b', '"a.b"'],
    ['unicode', 'Straße_日本', '"Straße_日本"'],
    ['emoji', '🐘', '"🐘"'],
    ['dollar and digits first', '1$x', '"1$x"'],
    ['newline', 'a\nb', '"a\nb"'],
  ])('%s', (_label, name, quoted) => {
    expect(quoteIdent(name)).toBe(quoted);
  });

  it('accepts a name of exactly 63 bytes', () => {
    const name = 'a'.repeat(MAX_IDENTIFIER_BYTES);
    expect(quoteIdent(name)).toBe(`"${name}"`);
  });

  it('counts bytes, not characters: 21 three-byte characters fit, 22 do not', () => {
    expect(quoteIdent('日'.repeat(21))).toBe(`"${'日'.repeat(21)}"`);
    expect(() => quoteIdent('日'.repeat(22))).toThrow(InvalidIdentifierError);
  });

  it.each([
    ['empty', ''],
    ['NUL', 'a\0b'],
    ['64 bytes (the server would truncate it)', 'a'.repeat(64)],
  ])('rejects %s', (_label, name) => {
    expect(() => quoteIdent(name)).toThrow(InvalidIdentifierError);
  });

  it('rejects non-strings arriving from untyped input', () => {
    expect(() => quoteIdent(undefined as unknown as string)).toThrow(InvalidIdentifierError);
  });
});

describe('quoteQualified', () => {
  it('quotes both parts independently', () => {
    expect(quoteQualified('My Schema', 'a"b')).toBe('"My Schema"."a""b"');
  });
  it('keeps a dot inside a part from becoming a separator', () => {
    expect(quoteQualified('public', 'x.y')).toBe('"public"."x.y"');
  });
});
