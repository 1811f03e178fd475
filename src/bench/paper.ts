// The paper's own figures for Figure 6, as its text states them (section 4.2 and footnote 3). The
// figure's other points are not given as numbers, so none are made up here.

export interface PaperPoint {
  servers: number;
  clients: number;
  /** Aggregate MB/s the paper reports (its random director). */
  mbps: number;
  /** The sentence it comes from. */
  quote: string;
}

export const PAPER_POINTS: readonly PaperPoint[] = [
  { servers: 1, clients: 8, mbps: 1.2, quote: 'For one FTP server, 8 clients are able to saturate the single available Ethernet link at 1.2 MB/s' },
  { servers: 2, clients: 16, mbps: 2, quote: 'Sixteen clients are able to retrieve approximately 2 MB/s from two servers' },
  { servers: 4, clients: 16, mbps: 3, quote: '16 clients saturate four servers at approximately 3 MB/s' },
];

/** What the paper says without a number. */
export const PAPER_NOTES: readonly string[] = [
  'For small numbers of clients a single server did best: all 40 downloads ran over one connection, while multi-server runs connected and disconnected as clients picked servers at random.',
  'The FTP server refused more than 16 simultaneous retrievals, so no point has more than 16 clients.',
];

export function paperPoint(servers: number, clients: number): PaperPoint | undefined {
  return PAPER_POINTS.find((p) => p.servers === servers && p.clients === clients);
}
