import { Case } from '../harness';
import { errorCases } from './errors';
import { filesystemCases } from './filesystem';
import { lifecycleCases } from './lifecycle';
import { processCases } from './process';
import { execCases } from './exec';
import { terminalCases } from './terminal';
import { hookCases } from './hooks';
import { usernsCases } from './userns';
import { deviceCases } from './devices';
import { processExtrasCases } from './process-extras';
import { cgroupCases } from './cgroups';
import { seccompCases } from './seccomp';

export const allCases: Case[] = [...lifecycleCases, ...execCases, ...terminalCases, ...processCases, ...processExtrasCases, ...filesystemCases, ...errorCases, ...hookCases, ...usernsCases, ...deviceCases, ...seccompCases, ...cgroupCases];
