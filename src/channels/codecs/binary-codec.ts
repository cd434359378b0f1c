/**
 * The `binary` record codec: Weir's typed binary format with a per-channel shape dictionary
 * (grammar in `binary-format.ts`). The default, chosen by `npm run bench:codec`.
 */
import type { RecordCodec } from '../record-codec.ts';
import { BinaryRecordDecoder } from './binary-decoder.ts';
import { BinaryRecordEncoder } from './binary-encoder.ts';

export const binaryRecordCodec: RecordCodec = {
  name: 'binary',
  createEncoder: () => new BinaryRecordEncoder('binary'),
  createDecoder: () => new BinaryRecordDecoder('binary'),
};
