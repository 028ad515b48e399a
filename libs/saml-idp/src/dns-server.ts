import dns2 from 'dns2';

const { Packet } = dns2;

/**
 * A DNS server on 127.0.0.1 (UDP, an ephemeral port unless `start` is given one) answering TXT
 * records published here, NXDOMAIN for anything else: what domain verification asks through
 * `DNS_RESOLVERS`. Built on dns2.
 */
export class TestDnsServer {
  private readonly records = new Map<string, string[][]>();
  private server?: ReturnType<typeof dns2.createServer>;
  /** `127.0.0.1:<port>`, for `DNS_RESOLVERS`. */
  address = '';

  /** Publishes a TXT record (`chunks`: its character-strings, joined by resolvers). */
  publishTxt(name: string, ...chunks: string[]): void {
    const key = name.toLowerCase().replace(/\.$/, '');
    this.records.set(key, [...(this.records.get(key) ?? []), chunks]);
  }

  unpublish(name: string): void {
    this.records.delete(name.toLowerCase().replace(/\.$/, ''));
  }

  /** Listens on `port` of 127.0.0.1 (0: any free one). @throws when the port is taken */
  async start(port = 0): Promise<this> {
    this.server = dns2.createServer({
      udp: true,
      handle: (request, send) => {
        const response = Packet.createResponseFromRequest(request);
        const [question] = request.questions;
        const found = this.records.get(question.name.toLowerCase());
        if (!found || question.type !== Packet.TYPE.TXT) {
          // RCODE 3: NXDOMAIN (RFC 1035 §4.1.1); 0 with no answer: NODATA.
          response.header.rcode = found ? 0 : 3;
        } else {
          for (const chunks of found) {
            response.answers.push({
              name: question.name,
              type: Packet.TYPE.TXT,
              class: Packet.CLASS.IN,
              ttl: 60,
              data: chunks,
            } as never);
          }
        }
        void send(response);
      },
    });
    const addresses = await this.server.listen({ udp: { port, address: '127.0.0.1' } });
    this.address = `127.0.0.1:${addresses.udp?.port}`;
    return this;
  }

  async stop(): Promise<void> {
    await this.server?.close();
  }
}
