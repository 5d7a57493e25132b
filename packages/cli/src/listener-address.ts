/** A listener as `NAME HOST:PORT` (`[::1]` for IPv6, `/udp` after a UDP port), as `up` and `check` print it. */
export function address(listener: { readonly name: string; readonly address: string; readonly port: number; readonly protocol: string }): string {
  const host = listener.address.includes(':') ? `[${listener.address}]` : listener.address;
  return `${listener.name} ${host}:${listener.port}${listener.protocol === 'udp' ? '/udp' : ''}`;
}
