// Whether a process id belongs to a running process: what tells a temporary file or directory left
// by a killed run from one another run is still using.

export function processAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === 'EPERM'; // another user's process
  }
}
