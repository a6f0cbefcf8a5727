/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/*
 * Destination ports as counter keys hold them: by class (flowlens.h,
 * FLOWLENS_PORTS). The table is set by user space before load from the same
 * port policy that labels destination_port, so a port scan creates at most
 * one key per class, never one per port.
 */
#ifndef __FLOWLENS_PORTS_BPF_H
#define __FLOWLENS_PORTS_BPF_H

/* Zero everywhere (the default) keeps every port as it is. */
const volatile __u16 port_classes[FLOWLENS_PORTS] = {};

static __always_inline __u16 port_class(__u16 port)
{
	__u16 class = port_classes[port];

	return class ? class : port;
}

#endif /* __FLOWLENS_PORTS_BPF_H */
