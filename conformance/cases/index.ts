import { Case } from '../harness';
import { errorCases } from './errors';
import { filesystemCases } from './filesystem';
import { lifecycleCases } from './lifecycle';
import { processCases } from './process';
import { processExtrasCases } from './process-extras';

export const allCases: Case[] = [...lifecycleCases, ...processCases, ...processExtrasCases, ...filesystemCases, ...errorCases];
