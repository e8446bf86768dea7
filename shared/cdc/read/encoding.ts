/**
 * Text of the source database's encoding, as a JS string. wal2json writes its JSON in the
 * database's encoding, and through the streaming protocol the walsender hands those bytes over
 * untouched (pgoutput converts its values to the session's client_encoding, UTF8, itself; the SQL
 * peek functions return text the server converts). A LATIN1 'é' read as UTF-8 would become U+FFFD.
 */
import { CdcApplyError } from '../errors';

/** PostgreSQL encoding names → WHATWG labels of Node's TextDecoder. */
const LABELS: Readonly<Record<string, string>> = {
  WIN866: 'ibm866', WIN874: 'windows-874', WIN1250: 'windows-1250', WIN1251: 'windows-1251', WIN1252: 'windows-1252',
  WIN1253: 'windows-1253', WIN1254: 'windows-1254', WIN1255: 'windows-1255', WIN1256: 'windows-1256', WIN1257: 'windows-1257',
  WIN1258: 'windows-1258', LATIN2: 'iso-8859-2', LATIN3: 'iso-8859-3', LATIN4: 'iso-8859-4', LATIN6: 'iso-8859-10',
  LATIN7: 'iso-8859-13', LATIN8: 'iso-8859-14', LATIN9: 'iso-8859-15', ISO_8859_5: 'iso-8859-5', ISO_8859_6: 'iso-8859-6',
  ISO_8859_7: 'iso-8859-7', ISO_8859_8: 'iso-8859-8', KOI8R: 'koi8-r', KOI8U: 'koi8-u', EUC_JP: 'euc-jp', EUC_KR: 'euc-kr',
  EUC_CN: 'gbk', GBK: 'gbk', GB18030: 'gb18030', BIG5: 'big5', SJIS: 'shift_jis',
};

/** A decoder for bytes in `serverEncoding`; a clear failure for one Node cannot decode. */
export function textDecoderFor(serverEncoding: string): (bytes: Buffer) => string {
  const enc = serverEncoding.toUpperCase();
  // SQL_ASCII declares no encoding: its bytes go through as they are, like UTF-8 text.
  if (enc === 'UTF8' || enc === 'SQL_ASCII') return (b) => b.toString('utf8');
  // ISO-8859-1 itself (WHATWG's "latin1" label means windows-1252).
  if (enc === 'LATIN1') return (b) => b.toString('latin1');
  // LATIN5 is ISO-8859-9, whose WHATWG decoder is windows-1254 (a superset): the same for its bytes.
  const label = enc === 'LATIN5' ? 'windows-1254' : LABELS[enc];
  if (label !== undefined) {
    const decoder = new TextDecoder(label, { fatal: true });
    return (b) => decoder.decode(b);
  }
  throw new CdcApplyError(
    `the source database's encoding ${serverEncoding} cannot be read from wal2json's stream; migrate it with the pgoutput decoder`,
    'SchemaMismatch',
    false,
  );
}
