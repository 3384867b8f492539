// A sync failure that is not the upstream's fault report (UpstreamFaultError) nor a transport
// failure (UpstreamTransportError): the sync's own verdict, e.g. revisions that never came back.
export class SyncError extends Error {
  constructor(readonly phase: string, message: string) {
    super(message);
    this.name = 'SyncError';
  }
}
