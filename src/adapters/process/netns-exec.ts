/**
 * Running a program inside a named network namespace (`pgvigil local up --netns`): the argv of
 * `nsenter --net=/run/netns/NS [--setgid G --setuid U] -- cmd args`. nsenter enters only the
 * network namespace (the filesystem, PIDs and users stay the host's) and drops to uid/gid after
 * entering, which a spawn with uid/gid could not (entering a namespace needs root).
 */
export function nsExec(
  ns: string,
  cmd: string,
  args: string[],
  as?: { uid: number; gid: number },
): { cmd: string; args: string[] } {
  const ids = as ? ['--setgid', String(as.gid), '--setuid', String(as.uid)] : [];
  return { cmd: 'nsenter', args: [`--net=/run/netns/${ns}`, ...ids, '--', cmd, ...args] };
}
