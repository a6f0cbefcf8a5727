import { describe, expect, it } from 'vitest';
import { AttachManager, MissingInterfaceError, type InterfaceRole } from '../../src/datapath/attach.js';
import { globToRegExp } from '../../src/datapath/interfaces.js';
import type { NetInterface } from '../../src/datapath/interfaces.js';

/** An attacher that records what it was asked to do. */
function recordingAttacher(failFor: string[] = []) {
  const calls: string[] = [];
  return {
    calls,
    attach(iface: NetInterface, role: InterfaceRole) {
      if (failFor.includes(iface.name)) throw new Error('no such device');
      calls.push(`attach ${iface.name}#${iface.ifindex} ${role}`);
      return { detach: () => calls.push(`detach ${iface.name}#${iface.ifindex}`) };
    },
  };
}

describe('globToRegExp', () => {
  it('matches * and ? and escapes the rest', () => {
    expect(globToRegExp('lxc*').test('lxc12ab')).toBe(true);
    expect(globToRegExp('lxc*').test('xlxc1')).toBe(false);
    expect(globToRegExp('eth?').test('eth0')).toBe(true);
    expect(globToRegExp('eth?').test('eth10')).toBe(false);
    expect(globToRegExp('a.b').test('axb')).toBe(false);
  });
});

describe('AttachManager', () => {
  it('attaches to matching interfaces, follows new ones, forgets vanished ones, detaches on stop', () => {
    let ifaces: NetInterface[] = [
      { name: 'lo', ifindex: 1 },
      { name: 'eth0', ifindex: 2 },
      { name: 'veth1', ifindex: 7 },
    ];
    const attacher = recordingAttacher();
    const mgr = new AttachManager({
      endpointPatterns: ['veth*'],
      nodePatterns: ['eth0'],
      attacher,
      scanIntervalMs: 1_000_000,
      list: () => ifaces,
    });
    mgr.start();
    expect(attacher.calls).toEqual(['attach eth0#2 node', 'attach veth1#7 endpoint']);
    expect(mgr.attachedCount).toBe(2);

    ifaces = [...ifaces, { name: 'veth2', ifindex: 9 }];
    expect(mgr.scan()).toEqual({ attached: ['veth2'], detached: [] });

    // veth1 is deleted and a new veth1 created with another ifindex between scans
    ifaces = ifaces.filter((i) => i.name !== 'veth1').concat({ name: 'veth1', ifindex: 12 });
    expect(mgr.scan()).toEqual({ attached: ['veth1'], detached: ['veth1'] });
    expect(mgr.attachedCount).toBe(3);

    mgr.stop();
    expect(attacher.calls.slice(3)).toEqual([
      'attach veth1#12 endpoint',
      'detach veth1#7',
      'detach eth0#2',
      'detach veth2#9',
      'detach veth1#12',
    ]);
    expect(mgr.attachedCount).toBe(0);
  });

  it('refuses to start when a literally named interface is missing, naming it', () => {
    const mgr = new AttachManager({
      endpointPatterns: ['veth*'],
      nodePatterns: ['eth9'],
      attacher: recordingAttacher(),
      scanIntervalMs: 1_000_000,
      list: () => [{ name: 'eth0', ifindex: 2 }],
    });
    expect(() => mgr.start()).toThrow(MissingInterfaceError);
    expect(() => mgr.start()).toThrow('interface eth9 not found');
  });

  it('counts attach failures and gives up on an interface after three attempts', () => {
    const attacher = recordingAttacher(['veth3']);
    const mgr = new AttachManager({
      endpointPatterns: ['veth*'],
      nodePatterns: [],
      attacher,
      scanIntervalMs: 1_000_000,
      list: () => [{ name: 'veth3', ifindex: 4 }],
    });
    mgr.start();
    for (let i = 0; i < 5; i++) mgr.scan();
    expect(mgr.attachFailures).toBe(3);
    expect(mgr.attachedCount).toBe(0);
    mgr.stop();
  });

  it('takes an interface that vanished while being attached as gone, not as a failure', () => {
    const logged: string[] = [];
    let ifaces = [{ name: 'veth5', ifindex: 6 }];
    const mgr = new AttachManager({
      endpointPatterns: ['veth*'],
      nodePatterns: [],
      // the attach fails because the interface left (moved into a namespace) meanwhile
      attacher: {
        attach(iface: NetInterface) {
          ifaces = [];
          throw new Error(`no such device: ${iface.name}`);
        },
      },
      scanIntervalMs: 1_000_000,
      list: () => ifaces,
      log: { info: (m: string) => logged.push(`info ${m}`), warn: (m: string) => logged.push(`warn ${m}`) },
    });
    mgr.start();
    expect(mgr.attachFailures).toBe(0);
    expect(logged).toEqual(['info interface veth5 (ifindex 6) went away while attaching']);
    mgr.stop();
  });
});
