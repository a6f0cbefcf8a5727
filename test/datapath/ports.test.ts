import { endianness } from 'node:os';
import { describe, expect, it } from 'vitest';
import { PORT_COUNT, PortFolder } from '../../src/datapath/ports.js';

/** The kernel's view: port_classes[port], or the port itself where the table holds zero. */
function kernelKey(table: Buffer, port: number): number {
  const v = endianness() === 'LE' ? table.readUInt16LE(port * 2) : table.readUInt16BE(port * 2);
  return v === 0 ? port : v;
}

describe('PortFolder: one port policy for labels and kernel keys', () => {
  it('labels named ports by number and the rest by IANA range', () => {
    const ports = new PortFolder([53, 8080]);
    expect([0, 53, 80, 1023, 1024, 8080, 49151, 49152, 65535].map((p) => ports.label(p))).toEqual([
      '0', '53', '1-1023', '1-1023', '1024-49151', '8080', '1024-49151', '49152-65535', '49152-65535',
    ]);
  });

  it('the kernel table keys every port by a port that labels alike, so kernel keys and series are the same set', () => {
    for (const named of [[], [53, 8080], [1, 2, 3, 1024, 49152], [443]]) {
      const ports = new PortFolder(named);
      const table = ports.kernelTable();
      expect(table.length).toBe(PORT_COUNT * 2);
      const keys = new Map<number, string>();
      for (let port = 0; port < PORT_COUNT; port++) {
        const key = kernelKey(table, port);
        // a key stands for exactly one label, and it is the port's own
        expect(ports.label(key)).toBe(ports.label(port));
        keys.set(key, ports.label(port));
      }
      // as many keys as labels: named ports, three ranges and 0
      expect(new Set(keys.values()).size).toBe(keys.size);
      expect(keys.size).toBe(named.length + 4);
    }
  });

  it('stands each range in with its lowest unnamed port', () => {
    const table = new PortFolder([1, 2, 1024]).kernelTable();
    expect([5, 1023, 2000, 60000].map((p) => kernelKey(table, p))).toEqual([3, 3, 1025, 49152]);
    expect([0, 1, 2, 1024].map((p) => kernelKey(table, p))).toEqual([0, 1, 2, 1024]);
  });

  it('refuses a port outside 0-65535', () => {
    expect(() => new PortFolder([65536])).toThrow('destination port 65536 is not an integer in 0-65535');
  });
});
