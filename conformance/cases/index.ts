import { Case } from '../harness';
import { errorCases } from './errors';
import { filesystemCases } from './filesystem';
import { lifecycleCases } from './lifecycle';
import { processCases } from './process';

export const allCases: Case[] = [...lifecycleCases, ...processCases, ...filesystemCases, ...errorCases];
