// A config string that must compile as a template; errors surface at validate time.

import { z } from 'zod';
import { Template } from './template.js';

export const templateString = () =>
  z.string().superRefine((v, ctx) => {
    try {
      Template.compile(v);
    } catch (e) {
      ctx.addIssue({ code: 'custom', message: (e as Error).message });
    }
  });
