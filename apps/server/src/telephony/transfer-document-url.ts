// Where Plivo or Vobiz fetch the dial document of a transfer the agent made: their API can only point a
// live call at a URL, so the destination travels in that URL's query, covered by the carrier's
// signature. The dialer hands the carrier this URL and the route rebuilds it from the request to check
// that signature, so both build it here: one byte of difference and every transfer is refused.

/** The transfer document's path (the route's pattern, with `:carrierCallId`). */
export const transferDocumentPath = (carrier: string, carrierCallId: string) =>
  `/webhooks/${carrier}/transfer/${carrierCallId}`;

/** The URL the carrier fetches and signs: the path on our public URL, the destination in the query. */
export const transferDocumentUrl = (publicUrl: string, carrier: string, carrierCallId: string, to: string) =>
  `${publicUrl}${transferDocumentPath(carrier, carrierCallId)}?to=${encodeURIComponent(to)}`;
