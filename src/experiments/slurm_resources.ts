/**
 * What a Slurm job array asks for per cell, as users write it for `sbatch`: partition, time limit, memory, CPUs and
 * generic resources (GPUs), from a grid file's `slurm:` mapping or `ablate` flags (flags win), plus the warning
 * signal: `--signal=B:USR1@<signal_seconds>` makes Slurm signal the task's batch shell that many seconds before the
 * time limit, and the shell stops the cell (it resumes from its last checkpoint) and requeues the task.
 */
import { z } from "zod";

/** The `slurm:` mapping of a grid file. Times use Slurm's formats (`MM`, `HH:MM:SS`, `D-HH:MM:SS`). */
export const SlurmResourcesSchema = z.object({
  partition: z.string().min(1).optional(),
  time: z.string().regex(/^(\d+-)?\d+(:\d{1,2}){0,2}$/, "a Slurm time limit such as 90, 1:30:00 or 2-00:00:00")
    .optional(),
  mem: z.string().regex(/^\d+[KMGT]?$/, "a Slurm memory size such as 4000 or 8G").optional(),
  cpus_per_task: z.number().int().min(1).optional(),
  gres: z.string().min(1).optional(),
  signal_seconds: z.number().int().min(1).max(3600).default(120),
}).strict();

/** Validated Slurm resources per array task. */
export type SlurmResources = z.infer<typeof SlurmResourcesSchema>;

/** The `sbatch` options asking for `resources`, with requeueing on and the pre-timeout warning signal. */
export function sbatchResourceArgs(resources: SlurmResources): string[] {
  const args = ["--requeue", "--open-mode=append", `--signal=B:USR1@${resources.signal_seconds}`];
  if (resources.partition !== undefined) args.push(`--partition=${resources.partition}`);
  if (resources.time !== undefined) args.push(`--time=${resources.time}`);
  if (resources.mem !== undefined) args.push(`--mem=${resources.mem}`);
  if (resources.cpus_per_task !== undefined) args.push(`--cpus-per-task=${resources.cpus_per_task}`);
  if (resources.gres !== undefined) args.push(`--gres=${resources.gres}`);
  return args;
}
