/**
 * How often the programs' ring buffers are read. Events are submitted with
 * BPF_RB_NO_WAKEUP: a wakeup per event (an irq_work and a scheduler wakeup,
 * each an exit on a VM) costs the packet path more than the event itself, and
 * under load it wakes this process thousands of times a second. Reading on a
 * timer bounds an event's delay to this instead; the kernel's per-CPU budget
 * (datapath.eventsPerSecond) keeps what piles up between reads far below the
 * ring's size.
 */
export const EVENTS_READ_MS = 100;
