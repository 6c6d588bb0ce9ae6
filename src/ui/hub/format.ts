/** Byte counts, speeds and counts as the model panel shows them. */

import { formatBytes } from '../../shared/format';

export { formatBytes };

export const formatSpeed = (bytesPerSecond: number) => `${formatBytes(Math.round(bytesPerSecond))}/s`;

export const formatCount = (n: number) => n.toLocaleString('en');

export const errorText = (e: unknown) => (e instanceof Error ? e.message : String(e));
