// What a link carries for the file data it delivers. On Ethernet with a 1500-byte MTU, a TCP
// segment holds at most 1448 bytes of data (1500 less 20 of IPv4 header, 20 of TCP header and 12
// of the timestamp option Linux sends) and travels in a 1514-byte frame (the 1500-byte packet and
// a 14-byte Ethernet header): 66 bytes of framing a segment. tc's tbf counts the same on a veth
// link (scripts/link-compare.mjs measured 1.0458 bytes counted per byte of data; 1514/1448 = 1.0456).
// ACKs travel the other way on a full-duplex link and cost the data's direction nothing. A bulk
// transfer fills its segments, so data is charged in proportion rather than segment by segment.

/** File data in one full TCP segment on a 1500-byte MTU with timestamps. */
export const SEGMENT_PAYLOAD = 1448;
/** Ethernet, IPv4 and TCP (with timestamps) headers around each segment. */
export const SEGMENT_OVERHEAD = 66;

/** Bytes a link carries to deliver `payload` bytes of data. */
export function onTheWire(payload: number): number {
  return Math.ceil((payload * (SEGMENT_PAYLOAD + SEGMENT_OVERHEAD)) / SEGMENT_PAYLOAD);
}

/** Data bytes/s a link of `linkRate` bytes/s delivers at most. */
export function dataRate(linkRate: number): number {
  return (linkRate * SEGMENT_PAYLOAD) / (SEGMENT_PAYLOAD + SEGMENT_OVERHEAD);
}
